/**
 * Progress for long-running commands, on a terminal only: a line on stderr
 * rewritten every PROGRESS_INTERVAL_MS, cleared at the end. Nothing at all
 * when stderr is not a TTY (piped or redirected).
 */
export const PROGRESS_INTERVAL_MS = 500;

export interface Progress {
  stop(): void;
}

/** Shows progress when `stream` is a terminal, unless `unlessTty` (the data output) is that terminal too. */
export function startProgress(render: () => string, stream: NodeJS.WriteStream = process.stderr, unlessTty?: NodeJS.WriteStream): Progress {
  if (!stream.isTTY || unlessTty?.isTTY) return { stop: () => undefined };
  const timer = setInterval(() => stream.write(`\r\x1b[K${render()}`), PROGRESS_INTERVAL_MS);
  timer.unref();
  return {
    stop: () => {
      clearInterval(timer);
      stream.write('\r\x1b[K');
    },
  };
}
