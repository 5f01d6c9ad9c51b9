/**
 * A coding team on a real git repository. The example makes a small repository
 * whose tests fail (three bugs, one per module) in a temp folder. Three
 * workers each fix one bug on a worktree of their own: they read the code,
 * run the tests, edit and run the tests again. A reviewer reads each diff with
 * its test output. Approved work goes through the merge queue into
 * agent-team/demo, and the tests end green there. The repository's own
 * branch, `main`, is never touched.
 *
 * Run: pnpm example:coding-team
 * The workers' model is scripted (a fromFunction model that issues the tool
 * calls), so it runs offline in seconds. With MODEL=anthropic:claude-sonnet-4-6
 * (and a key) real models do the work instead.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AgentRole, AgentTeam, attachProgress, createModel, formatSummary, fromFunction, type LanguageModel, useColor } from '@agent-team/agents';

const git = (cwd: string, ...args: string[]) => execFileSync('git', args, { cwd, encoding: 'utf8' }).trim();

// 1. A repository with failing tests.
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'agent-team-coding-'));
const repo = path.join(dir, 'repo');
const bugs: Record<string, { file: string; wrong: string; right: string }> = {
  add: { file: 'src/add.js', wrong: 'return a - b;', right: 'return a + b;' },
  multiply: { file: 'src/multiply.js', wrong: 'return a + b;', right: 'return a * b;' },
  clamp: { file: 'src/clamp.js', wrong: 'return Math.max(lo, x);', right: 'return Math.min(hi, Math.max(lo, x));' },
};
fs.mkdirSync(path.join(repo, 'src'), { recursive: true });
fs.writeFileSync(path.join(repo, 'package.json'), '{ "name": "tiny-math", "private": true, "type": "commonjs" }\n');
for (const [name, bug] of Object.entries(bugs)) {
  const params = name === 'clamp' ? 'x, lo, hi' : 'a, b';
  fs.writeFileSync(path.join(repo, bug.file), `// ${name}\nfunction ${name}(${params}) {\n  ${bug.wrong}\n}\n\nmodule.exports = { ${name} };\n`);
}
fs.writeFileSync(
  path.join(repo, 'test.js'),
  `const checks = [
  ['add(2, 3) is 5', () => require('./src/add.js').add(2, 3) === 5],
  ['multiply(4, 5) is 20', () => require('./src/multiply.js').multiply(4, 5) === 20],
  ['clamp(12, 0, 10) is 10', () => require('./src/clamp.js').clamp(12, 0, 10) === 10],
];
let failed = 0;
for (const [name, check] of checks) {
  const ok = check();
  if (!ok) failed += 1;
  console.log(\`\${ok ? 'ok  ' : 'FAIL'} \${name}\`);
}
console.log(\`\${checks.length - failed} of \${checks.length} pass\`);
process.exit(failed ? 1 : 0);
`,
);
git(dir, 'init', '--quiet', '--initial-branch=main', repo);
git(repo, 'add', '-A');
git(repo, '-c', 'user.name=you', '-c', 'user.email=you@example.com', 'commit', '--quiet', '-m', 'tiny-math with three bugs');

// 2. The models: scripted coders and reviewer, or a real model.
function scriptedCoder(): LanguageModel {
  return fromFunction(function coder(_prompt, request) {
    const prompt = request.messages.find((m) => m.role === 'user')?.content ?? '';
    const name = Object.keys(bugs).find((n) => prompt.includes(`Fix ${n}`));
    const bug = name ? bugs[name] : undefined;
    if (!bug) return 'I found nothing to fix.';
    const results = request.messages.filter((m) => m.role === 'tool').length;
    const steps = [
      { name: 'read_file', arguments: { path: bug.file } },
      { name: 'run_command', arguments: { command: 'node test.js' } },
      { name: 'edit_file', arguments: { path: bug.file, old_string: bug.wrong, new_string: bug.right } },
      { name: 'run_command', arguments: { command: 'node test.js' } },
    ];
    const next = steps[results];
    if (next) return { text: '', toolCalls: [next] };
    return `Fixed ${name} in ${bug.file}: \`${bug.wrong}\` became \`${bug.right}\`; its check passes now.`;
  });
}
const scriptedReviewer = fromFunction(function reviewer(prompt) {
  const changed = /^\+\s+return /m.test(prompt);
  return JSON.stringify(
    changed ? { verdict: 'approve', feedback: 'The fix is the minimal change and its check passes.' } : { verdict: 'changes', feedback: 'No change to review.' },
  );
});
const real = process.env.MODEL;
const worker = () => (real ? createModel(real) : scriptedCoder());

// 3. The team: three workers with write access to the repository, a reviewer.
const team = new AgentTeam({ workspace: path.join(dir, 'workspace'), teamId: 'demo', codebase: { repo, test: 'node test.js' } });
for (const id of ['w1', 'w2', 'w3']) team.addAgent(id, AgentRole.WORKER, worker(), { codebase: 'write', maxSteps: 12 });
team.addAgent('reviewer', AgentRole.REVIEWER, real ? createModel(real) : scriptedReviewer);
for (const [name, bug] of Object.entries(bugs)) {
  await team.addTask(`Fix ${name} in ${bug.file} so that its check in test.js passes (run it with: node test.js)`, { id: `fix-${name}`, review: true });
}
const color = useColor(process.stdout);
attachProgress(team, { color });
team.on('git.merged', (e) => console.log(`  merged ${e.taskId} into ${e.into} (${e.commit.slice(0, 8)}) by ${e.agentId}`));
team.on('git.merge_refused', (e) => console.log(`  merge of ${e.taskId} refused (${e.reason}): ${e.detail}`));
const summary = await team.run({ timeoutMs: real ? 15 * 60_000 : 60_000 });
console.log(formatSummary(summary, { color }));

// 4. The result: the branches, and the tests on the merged branch.
console.log(`\nagent-team/demo, as merged:\n${git(repo, 'log', '--graph', '--oneline', '--format=%h %an: %s', 'agent-team/demo')}\n`);
const check = path.join(dir, 'check');
git(repo, 'worktree', 'add', '--quiet', '--detach', check, 'agent-team/demo');
let green = true;
try {
  console.log(execFileSync('node', ['test.js'], { cwd: check, encoding: 'utf8' }).trim());
} catch (err) {
  green = false;
  console.log(String((err as { stdout?: string }).stdout ?? err).trim());
}
console.log(`\nmain is untouched: ${git(repo, 'rev-parse', '--abbrev-ref', 'HEAD')} at "${git(repo, 'log', '-1', '--format=%s', 'main')}", working tree clean: ${git(repo, 'status', '--porcelain') === ''}`);
console.log(green ? 'Tests are green on agent-team/demo.' : 'Tests still fail on agent-team/demo.');
await team.close();
if (process.env.KEEP) console.log(`Kept: ${dir}`);
else fs.rmSync(dir, { recursive: true, force: true });
process.exitCode = green && summary.status === 'completed' ? 0 : 1;
