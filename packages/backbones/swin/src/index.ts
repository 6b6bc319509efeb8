// placeholder: the swin family is being written (issue 22)
export {};
