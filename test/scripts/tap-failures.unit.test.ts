import t from 'tap'
import { FailureDigest } from '../../scripts/tap-failures.js'

// What `tap --reporter=tap` printed for a file with a failing assertion two subtests deep, a todo and a passing
// assertion (trimmed of its source excerpts), followed by a file that crashed before its first test.
const RUN = `TAP version 14
1..2
# Subtest: test/scripts/x.test.mjs
    # Subtest: outer
        ok 1 - fine
        # Subtest: inner
            not ok 1 - one is two
              ---
              compare: ===
              at:
                fileName: test/scripts/x.test.mjs
                lineNumber: 4
                columnNumber: 36
                typeName: Test
              stack: |
                Test.<anonymous> (test/scripts/x.test.mjs:4:36)
              diff: |
                --- expected
                +++ actual
                @@ -1,1 +1,1 @@
                -2
                +1
              ...
            
            1..1
        not ok 2 - inner # time=58.351ms
          ---
          at:
            fileName: test/scripts/x.test.mjs
            lineNumber: 4
          ...
        
        1..2
    not ok 1 - outer # time=65.042ms
    ok 2 - todo # TODO
    1..2
not ok 1 - test/scripts/x.test.mjs # time=103.456ms
  ---
  exitCode: 1
  signal: null
  ...

# Subtest: test/scripts/crash.test.ts
    1..0 # no tests found
not ok 2 - test/scripts/crash.test.ts # time=4544.973ms
  ---
  exitCode: 1
  signal: null
  ...

# { total: 4, pass: 1, fail: 2, todo: 1 }
`

t.test('the digest names each failed assertion where it sits, once, with its diagnostics', async (t) => {
  const digest = new FailureDigest()
  for (let i = 0; i < RUN.length; i += 37) digest.feed(RUN.slice(i, i + 37)) // chunks cut lines anywhere
  const report = digest.report()
  t.equal(report, [
    '',
    'failed (2):',
    '  not ok - test/scripts/x.test.mjs > outer > inner > one is two (test/scripts/x.test.mjs:4)',
    '      compare: ===',
    '      diff: |',
    '        --- expected',
    '        +++ actual',
    '        @@ -1,1 +1,1 @@',
    '        -2',
    '        +1',
    '  not ok - test/scripts/crash.test.ts',
    '      exitCode: 1',
    '      signal: null',
    ''
  ].join('\n'), 'the failed subtests around an assertion are not listed again; the todo is not a failure; a crashed file is')
})

t.test('nothing failed: nothing to print', async (t) => {
  const digest = new FailureDigest()
  digest.feed('TAP version 14\n1..1\n# Subtest: a.test.ts\n    ok 1 - fine\n    1..1\nok 1 - a.test.ts\n')
  t.equal(digest.report(), '')
})
