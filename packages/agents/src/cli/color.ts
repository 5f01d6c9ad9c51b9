/**
 * Whether to colour `stream`: Node's own rules (`tty.WriteStream#hasColors`,
 * which honours NO_COLOR, NODE_DISABLE_COLORS, FORCE_COLOR and TERM=dumb); a
 * pipe or a file gets none. Kept free of imports: the CLI's entry point uses it.
 */
export function useColor(stream: NodeJS.WriteStream = process.stdout): boolean {
  return Boolean(stream.isTTY) && typeof stream.hasColors === 'function' && stream.hasColors();
}
