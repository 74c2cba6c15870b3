#!/usr/bin/env node
// The package's `participant-progress` command (`npm run cli -- ...` runs the same file).
import 'reflect-metadata';
import { createProgram } from './program';

createProgram()
  .parseAsync(process.argv)
  .catch((error: unknown) => {
    // A failure the command did not explain itself: its message, without a stack trace.
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
