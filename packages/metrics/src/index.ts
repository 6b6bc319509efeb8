export * from './errors';
export * from './prng';
export * from './twoAfc';
export * from './jnd';
export * from './psnr-ssim';
export * from './delineation';
export * from './accuracy';
export * from './rank';
