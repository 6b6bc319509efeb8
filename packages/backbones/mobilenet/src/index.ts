// placeholder: the mobilenet family is being written (issue 22)
export {};
