#!/usr/bin/env node
// The agent-team command.
const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
  // Needs only package.json: answered before the CLI (and commander) load.
  const { readFileSync } = await import('node:fs');
  process.stdout.write(`${JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version}\n`);
} else {
  // `#cli` (package.json "imports") is the built CLI, dist/cli/main.js. Inside
  // this repository, under the "@agent-team/source" condition that the repo's
  // scripts and tests set, it is the TypeScript source instead, run through
  // tsx (a devDependency there, never loaded otherwise).
  const cli = import.meta.resolve('#cli');
  if (cli.endsWith('.ts')) {
    const { register } = await import('tsx/esm/api');
    register();
  }
  await import(cli);
}
