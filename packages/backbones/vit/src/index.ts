// placeholder: the vit family is being written (issue 22)
export {};
