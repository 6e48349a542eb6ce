/** Jest runs TypeScript through @swc/jest (types are checked separately by `tsc --noEmit`).
 * middy ships ESM only, so it is transformed to CommonJS like our own sources. */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.(t|j)sx?$': ['@swc/jest', { jsc: { target: 'es2022' }, module: { type: 'commonjs' } }],
  },
  transformIgnorePatterns: ['/node_modules/(?!(@middy)/)'],
  // Dynamic imports carry `.js` (TypeScript's nodenext rule); the sources are `.ts`.
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  testTimeout: 60000,
  setupFiles: ['<rootDir>/test/setup-env.ts'],
};
