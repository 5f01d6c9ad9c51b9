// The packages as a user meets them: built, packed with `pnpm pack`, installed
// with npm into a fresh project outside the repository, and used there with
// plain `node`, `npx agent-team` and `tsc`. This is the check that catches the
// next packaging break (an export with no file, a runtime dependency that is
// only a devDependency here, a process that never exits) before a user does.
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const repo = resolve(import.meta.dirname, '../../../..');
const packages = ['core', 'agents'] as const;

// Children must not inherit the repo's "@agent-team/source" condition (vitest
// sets it in NODE_OPTIONS): a user's node resolves the built dist/.
const userEnv: NodeJS.ProcessEnv = { ...process.env, NODE_OPTIONS: '', NO_COLOR: '1' };
delete userEnv.ANTHROPIC_API_KEY;
delete userEnv.OPENAI_API_KEY;
delete userEnv.OPENAI_BASE_URL;

/** The fenced code block of `lang` that follows `heading` (or the first one) in a markdown file. */
function codeBlock(markdownFile: string, lang: string, heading?: string): string {
  let text = readFileSync(markdownFile, 'utf8');
  if (heading) {
    const at = text.indexOf(`\n${heading}\n`);
    if (at < 0) throw new Error(`${markdownFile} has no heading "${heading}"`);
    text = text.slice(at);
  }
  const match = new RegExp('```' + lang + '\\n([\\s\\S]*?)```').exec(text);
  if (!match?.[1]) throw new Error(`${markdownFile} has no \`\`\`${lang} block${heading ? ` under "${heading}"` : ''}`);
  return match[1];
}

let project = '';
let packs = '';
const tarballs: Record<string, string> = {};

beforeAll(async () => {
  packs = mkdtempSync(join(tmpdir(), 'agent-team-packs-'));
  project = mkdtempSync(join(tmpdir(), 'agent-team-user-'));
  const env = { ...process.env, NODE_OPTIONS: '' };
  for (const name of packages) {
    const dir = join(repo, 'packages', name);
    await run(process.execPath, [join(repo, 'scripts/build-package.mjs')], { cwd: dir, env });
    await run('pnpm', ['pack', '--pack-destination', packs], { cwd: dir, env });
  }
  for (const file of readdirSync(packs)) {
    const name = packages.find((p) => file.startsWith(`agent-team-${p}-`));
    if (name) tarballs[name] = join(packs, file);
  }
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'a-user-project', private: true, type: 'module' }));
  await run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', tarballs.core!, tarballs.agents!, '@types/node@20'], {
    cwd: project,
    env: userEnv,
  });
}, 300_000);

afterAll(() => {
  for (const dir of [packs, project]) if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the packed packages, installed with npm in a fresh project', () => {
  it('carry their README, LICENSE, built JavaScript and types, and no tests', () => {
    for (const name of packages) {
      const listing = execFileSync('tar', ['-tzf', tarballs[name]!], { encoding: 'utf8' }).split('\n');
      for (const file of ['package/README.md', 'package/LICENSE', 'package/package.json', 'package/dist/index.js', 'package/dist/index.d.ts']) {
        expect(listing, `${name} tarball`).toContain(file);
      }
      expect(listing.filter((f) => f.includes('/test/')), `${name} tarball`).toEqual([]);
      const manifest = JSON.parse(readFileSync(join(project, 'node_modules/@agent-team', name, 'package.json'), 'utf8')) as {
        version: string;
        dependencies?: Record<string, string>;
      };
      // workspace:* became the exact version of the sibling package.
      if (name === 'agents') expect(manifest.dependencies?.['@agent-team/core']).toBe(manifest.version);
      expect(Object.keys(manifest.dependencies ?? {})).not.toContain('tsx');
    }
  });

  /** Runs a snippet as `<name>/index.mjs` with plain node, in a folder of its own (each makes ./workspace). */
  async function runSnippet(name: string, code: string): Promise<string> {
    const dir = join(project, name);
    mkdirSync(dir);
    writeFileSync(join(dir, 'index.mjs'), code);
    // The timeout is a backstop: a process that does not exit by itself fails here.
    const { stdout } = await run(process.execPath, ['index.mjs'], { cwd: dir, env: userEnv, timeout: 60_000 });
    return stdout;
  }

  it('run the README Quick Start, exactly as printed, with plain node, and exit by themselves', async () => {
    expect(await runSnippet('quick', codeBlock(join(repo, 'README.md'), 'ts', '## Quick start'))).toContain('Completed: 4/4');
  });

  it("run each package README's example", async () => {
    await runSnippet('core-readme', codeBlock(join(repo, 'packages/core/README.md'), 'ts'));
    expect(await runSnippet('agents-readme', codeBlock(join(repo, 'packages/agents/README.md'), 'js'))).toContain('Completed: 2/2');
  });

  it('give a working agent-team command: --version, --help, init and an offline run', async () => {
    const { version } = JSON.parse(readFileSync(join(repo, 'packages/agents/package.json'), 'utf8')) as { version: string };
    const npx = (args: string[]) => run('npx', ['--no-install', 'agent-team', ...args], { cwd: project, env: userEnv, timeout: 60_000 });
    expect((await npx(['--version'])).stdout.trim()).toBe(version);
    expect((await npx(['--help'])).stdout).toMatch(/Usage: agent-team/);
    await npx(['init']);
    const { stdout } = await npx(['run', 'team.yaml']);
    expect(stdout).toMatch(/Run completed/);
  });

  it('type-check a consumer with tsc --strict --module nodenext (and a misspelt event fails to compile)', async () => {
    writeFileSync(
      join(project, 'consumer.ts'),
      [
        "import { AgentRole, AgentTeam, createModel, type RunSummary } from '@agent-team/agents';",
        "import { TaskQueue, type TaskRecord } from '@agent-team/core';",
        '',
        "const team = new AgentTeam({ workspace: './ws-typed' });",
        "team.addAgent('w1', AgentRole.WORKER, createModel('offline'));",
        "team.on('task.completed', (event) => console.log(event.taskId));",
        '// @ts-expect-error: no such event',
        "team.on('task.compleeted', () => {});",
        'const summary: RunSummary = await team.run({ timeoutMs: 1000 });',
        "const queue = TaskQueue.open({ workspace: './ws-typed' });",
        'const tasks: TaskRecord[] = await queue.list();',
        'console.log(summary.status, tasks.length);',
        'await queue.close();',
        '',
      ].join('\n'),
    );
    const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
    const args = ['--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--noEmit', '--types', 'node', 'consumer.ts'];
    const result = await run(process.execPath, [tsc, ...args], { cwd: project, env: userEnv }).catch((err: { stdout: string }) => err);
    expect(result.stdout).toBe('');
  });

  it('load with require() on Node 20.19+ (require of an ES module)', async () => {
    const { stdout } = await run(process.execPath, ['-e', "console.log(typeof require('@agent-team/agents').AgentTeam, typeof require('@agent-team/core').TaskQueue)"], {
      cwd: project,
      env: userEnv,
    });
    expect(stdout.trim()).toBe('function function');
  });
});
