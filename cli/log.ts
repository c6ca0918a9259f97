// The operational log: one line per event on stderr, so stdout carries only the access log.
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type Log = (level: LogLevel, message: string) => void;

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export function isLogLevel(v: string): v is LogLevel {
  return v in RANK;
}

export function createLog(minimum: LogLevel, write: (line: string) => void = (l) => process.stderr.write(l)): Log {
  const floor = RANK[minimum];
  return (level, message) => {
    if (RANK[level] < floor) return;
    write(`${new Date().toISOString()} ${level} ${message}\n`);
  };
}
