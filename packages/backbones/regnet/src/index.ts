// placeholder: the regnet family is being written (issue 22)
export {};
