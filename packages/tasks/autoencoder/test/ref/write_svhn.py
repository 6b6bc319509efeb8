"""Writes small SVHN-format MAT-files with scipy.io.savemat for the loader tests.

usage: write_svhn.py OUT_DIR
  train_32x32.mat (uncompressed), test_32x32.mat and extra_32x32.mat (compressed): X is
  32x32x3xN uint8, y is Nx1 double with labels 1..10; expected_<split>.npy: the images as
  N x 64 x 64 x 3 float32 in [0, 1] after numpy's reflect padding by 16, labels_<split>.npy the
  labels with 10 -> 0. Bad files: no_x.mat (other variable names), double_x.mat (X as double),
  v4.mat (MAT v4), y_bad.mat (a label 11).
"""
import sys

import numpy as np
import scipy.io as sio

out = sys.argv[1]
rng = np.random.default_rng(5)
for split, n, compress in (('train', 7, False), ('test', 5, True), ('extra', 9, True)):
    X = rng.integers(0, 256, size=(32, 32, 3, n), dtype=np.uint8)
    y = rng.integers(1, 11, size=(n, 1)).astype(np.float64)
    y[0, 0] = 10
    sio.savemat(f'{out}/{split}_32x32.mat', {'X': X, 'y': y}, do_compression=compress)
    imgs = np.transpose(X, (3, 0, 1, 2))  # N, H, W, C
    padded = np.pad(imgs, ((0, 0), (16, 16), (16, 16), (0, 0)), mode='reflect')
    np.save(f'{out}/expected_{split}.npy', (padded.astype(np.float32) / 255).astype(np.float32))
    np.save(f'{out}/labels_{split}.npy', (y[:, 0] % 10).astype(np.float32))
X = rng.integers(0, 256, size=(32, 32, 3, 2), dtype=np.uint8)
sio.savemat(f'{out}/no_x.mat', {'images': X, 'labels': np.ones((2, 1))})
sio.savemat(f'{out}/double_x.mat', {'X': X.astype(np.float64), 'y': np.ones((2, 1))}, do_compression=True)
sio.savemat(f'{out}/v4.mat', {'X': X.reshape(32, -1).astype(np.float64), 'y': np.ones((2, 1))}, format='4')
sio.savemat(f'{out}/y_bad.mat', {'X': X, 'y': np.array([[1.0], [11.0]])})
