'use strict';

/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  // Only crawl the test tree (keeps jest from indexing target/ and node_modules/).
  roots: ['<rootDir>/__test__'],
  testMatch: ['<rootDir>/__test__/**/*.test.js'],
  // Tests are plain CommonJS that require('../dist'): no transpilation.
  transform: {},
  testTimeout: 120000,
  globalSetup: '<rootDir>/__test__/helpers/fatal-criticals.js',
  verbose: true,
};
