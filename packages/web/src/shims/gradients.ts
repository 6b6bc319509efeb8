/** Browser stand-in for core's gradients.ts: the page only runs forward passes, so no gradients are registered. */
export {};
