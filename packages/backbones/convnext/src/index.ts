// placeholder: the convnext family is being written (issue 22)
export {};
