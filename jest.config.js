/** One jest run for the whole workspace. Test files are compiled by ts-jest (transpile only:
 * `npm run build` type-checks first); every @dpl/* import resolves to its package's source so that
 * tests and the plugins they load share one copy of @dpl/core. */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/packages', '<rootDir>/test', '<rootDir>/tools'],
  testMatch: ['**/test/**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', '/dist/'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.jest.json' }],
  },
  moduleNameMapper: {
    '^@dpl/core$': '<rootDir>/packages/core/src/index.ts',
    '^@dpl/core/package\\.json$': '<rootDir>/packages/core/package.json',
    '^@dpl/core/(.*)$': '<rootDir>/packages/core/src/$1',
    '^@dpl/metrics$': '<rootDir>/packages/metrics/src/index.ts',
  },
  testTimeout: 120000,
  maxWorkers: 2,
};
