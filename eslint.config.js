import neostandard from 'neostandard'

export default [
  ...neostandard({ ts: true, ignores: ['dist/**', 'coverage/**', '.tap/**', 'bench/results/**', 'examples/typescript-client/verso-api.ts'] }),
  {
    files: ['src/**/*.ts'],
    rules: { 'no-console': 'error' }
  }
]
