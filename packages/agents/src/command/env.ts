import { ValidationError } from '@agent-team/core';
import { registerSecret } from '../models/secrets.js';

/**
 * Expands `${VAR}` and `${VAR:-fallback}` in a configured value from the
 * environment, so a spec can name a key (`KEY: "${KEY}"`) without holding it.
 * An unset variable without a fallback is an error naming it and where it
 * was asked for.
 */
export function expandEnvValue(value: string, where: string, env: NodeJS.ProcessEnv = process.env): string {
  return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g, (_m, name: string, fallback: string | undefined) => {
    const found = env[name];
    if (found !== undefined && found !== '') return found;
    if (fallback !== undefined) return fallback;
    throw new ValidationError(`${where} uses \${${name}}, which is not set in the environment: set it, or write \${${name}:-default}`);
  });
}

/** Expands every value of an env map (see {@link expandEnvValue}). */
export function expandEnv(values: Readonly<Record<string, string>> | undefined, where: string, env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(values ?? {})) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new ValidationError(`${where}: ${JSON.stringify(name)} is not a valid environment variable name`);
    if (typeof value !== 'string') throw new ValidationError(`${where}.${name} must be a string, got ${typeof value}`);
    out[name] = expandEnvValue(value, `${where}.${name}`, env);
  }
  return out;
}

/** Names whose values are credentials: they are masked wherever a program's output is recorded. */
const SECRET_NAME = /(API_?KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|PRIVATE_?KEY|AUTH)/i;

/** Registers the credential-looking values of an environment, so {@link redactSecrets} masks them. */
export function registerEnvSecrets(env: Readonly<Record<string, string | undefined>>): void {
  for (const [name, value] of Object.entries(env)) if (value && SECRET_NAME.test(name)) registerSecret(value);
}

/** What a program gets when it does not inherit this process's environment. */
export const MINIMAL_ENV_NAMES = ['PATH', 'HOME', 'USER', 'LOGNAME', 'SHELL', 'TERM', 'LANG', 'LC_ALL', 'LC_CTYPE', 'TMPDIR', 'TZ'] as const;

export function minimalEnv(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of MINIMAL_ENV_NAMES) {
    const value = env[name];
    if (value !== undefined) out[name] = value;
  }
  return out;
}
