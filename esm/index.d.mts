// Types for esm/index.mjs: the same API as the CommonJS build.
import * as cjs from '../dist/index.js'
export * from '../dist/index.js'
export default cjs
