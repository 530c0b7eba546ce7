// The checkpoint's child process (see checkpoint.ts): reads its input as JSON on stdin, prints
// its result as one JSON line.
import { text } from 'node:stream/consumers';
import { writeCheckpoint, type CheckpointInput } from './checkpoint.ts';

const input = JSON.parse(await text(process.stdin)) as CheckpointInput;
process.stdout.write(`${JSON.stringify(await writeCheckpoint(input))}\n`);
