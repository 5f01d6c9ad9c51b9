export { CommandAgent, CommandFailedError, type CommandAgentOptions } from './command-agent.js';
export { splitCommandLine, formatCommandLine } from './command-line.js';
export { PRESETS, PRESET_NAMES, isPresetName, type CommandPreset, type PresetName, type PresetOutcome, type ToolUsage } from './presets.js';
export { runProcess, type RunProcessOptions, type ProcessOutcome } from './process-runner.js';
export { expandEnv, expandEnvValue } from './env.js';
export { COMMAND_EVENT_TYPES } from './events.js';
