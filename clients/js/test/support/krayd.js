// Starts the real krayd for the tests: the binary ctest passes in KRAYD, a
// fresh temp datadir, a free loopback port (-port=0 -portfile), the
// operator token "secret". Stops it (SIGTERM) when asked.
import { spawn } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export const SOURCE_DIR = process.env.KRAY_SOURCE_DIR ?? new URL('../../../..', import.meta.url).pathname;

/**
 * @param {{genesis?: string, args?: string[]}} [options] genesis: a path
 *   (default config/genesis.regtest.json)
 * @returns {Promise<{url: string, port: number, datadir: string, log: string, stop: () => Promise<number>}>}
 */
export async function startKrayd(options = {}) {
  const binary = process.env.KRAYD;
  if (!binary) throw new Error('set KRAYD to the krayd binary (ctest does)');
  const dir = mkdtempSync(join(tmpdir(), 'kray-js-'));
  const portfile = join(dir, 'port');
  const log = join(dir, 'krayd.log');
  const args = [
    `-datadir=${join(dir, 'data')}`,
    `-genesis=${options.genesis ?? join(SOURCE_DIR, 'config/genesis.regtest.json')}`,
    '-port=0',
    `-portfile=${portfile}`,
    '-rpctoken=secret',
    '-loglevel=warn',
    ...(options.args ?? []),
  ];
  const out = openSync(log, 'a');
  const child = spawn(binary, args, { stdio: ['ignore', out, out] });
  let exited = null;
  child.on('exit', (code) => (exited = code ?? 128));
  for (let i = 0; i < 400 && exited === null; i++) {
    let port = 0;
    try {
      port = Number(readFileSync(portfile, 'utf8').trim());
    } catch {}
    if (port) {
      try {
        const res = await fetch(`http://127.0.0.1:${port}/health`);
        if (res.ok) {
          return {
            url: `http://127.0.0.1:${port}`,
            port,
            datadir: join(dir, 'data'),
            log,
            stop: () =>
              new Promise((resolve) => {
                if (exited !== null) return resolve(exited);
                child.on('exit', (code) => {
                  rmSync(dir, { recursive: true, force: true });
                  resolve(code);
                });
                child.kill('SIGTERM');
              }),
          };
        }
      } catch {}
    }
    await sleep(50);
  }
  child.kill('SIGKILL');
  throw new Error(`krayd did not start (exit ${exited}): ${readFileSync(log, 'utf8').slice(-2000)}`);
}

/** Polls `fn` until it returns a truthy value (bounded). */
export async function eventually(fn, { timeout = 10000, what = 'condition' } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  while (Date.now() < deadline) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    await sleep(50);
  }
  throw new Error(`timed out waiting for ${what}: ${last instanceof Error ? last.message : JSON.stringify(last)}`);
}
