#!/usr/bin/env -S node --max-semi-space-size=32
// The `busbar` command: runs the compiled CLI (built by `npm run build`, which `npm install` runs).
// The first line gives V8's young generation semi-spaces of up to 32 MB instead of 16 MB (each
// thread's): what a busy node holds in flight then survives fewer collections. Measured in
// docs/benchmarks.md (eleventh session); `npm start` and the test servers run with the same flags.
import "../dist/cli/main.js";
