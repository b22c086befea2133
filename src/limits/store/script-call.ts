import { Command } from 'ioredis';
import type { RedisClient } from '../../stores/redis.js';

/** `[numberOfKeys, ...keys, ...argv]`, every one a string: one script call's arguments. */
export type ScriptArgs = string[];

/** The script as ioredis's `defineCommand` keeps it (the one `name` was defined with). */
interface DefinedScript {
  lua: string;
  sha: string;
}

/** Empty, for `super`: the arguments are set after it (see ScriptCommand). */
const NO_ARGS: string[] = [];

/**
 * One call of a script that `redis.defineCommand(name, { lua })` defined, as ioredis itself sends
 * it (EVALSHA; EVAL the first time on each connection, and on NOSCRIPT the same call again as
 * EVAL), built for a call on the hot path: the arguments come as one array of strings.
 *
 * Why not the defined command itself: on Node 20 ioredis's `Command` constructor copies the
 * arguments with `Array.prototype.flat()`, which alone costs ~2 µs for a limit check's ~20
 * arguments, more than the rest of the check's own JavaScript. This command takes its array as
 * given. A connection with a key prefix or auto-pipelining (which the defined command honours
 * and this does not) uses the defined command.
 */
export function createScriptCall(redis: RedisClient, name: string): (args: ScriptArgs) => Promise<unknown> {
  const scripts = (redis as unknown as { scriptsSet: Record<string, DefinedScript | undefined> }).scriptsSet;
  const script = scripts[name];
  if (script === undefined) throw new Error(`script ${name} must be defined with defineCommand first`);
  const { options } = redis;
  if (options.keyPrefix || options.enableAutoPipelining) {
    const defined = (redis as unknown as Record<string, (...args: string[]) => Promise<unknown>>)[name]!.bind(redis);
    return (args) => defined(...args);
  }
  /** Connections (sockets) this script was sent to with EVAL, as ioredis's Script keeps them. */
  const loaded = new WeakSet<object>();

  class ScriptCommand extends Command {
    /** The socket it was last written to: the one a NOSCRIPT came from. */
    socket: object | null = null;

    constructor(args: ScriptArgs) {
      super('evalsha', NO_ARGS, { replyEncoding: 'utf8', errorStack: options.showFriendlyErrorStack ? new Error() : undefined });
      // Strings only, so nothing for `stringifyArguments` to convert; the script's body or SHA1
      // goes first when written.
      this.args = [script!.sha, ...args];
    }

    override toWritable(socket: object): string | Buffer {
      this.socket = socket;
      // As ioredis's Script: EVAL (loading the script) on a connection that has not had it yet.
      if (!loaded.has(socket)) {
        loaded.add(socket);
        this.name = 'eval';
        this.args[0] = script!.lua;
      } else if (this.name === 'eval') {
        this.name = 'evalsha';
        this.args[0] = script!.sha;
      }
      return super.toWritable(socket);
    }
  }

  const send = (args: ScriptArgs): ScriptCommand => {
    const command = new ScriptCommand(args);
    redis.sendCommand(command);
    return command;
  };
  return (args) => {
    const command = send(args);
    return command.promise.catch((err: unknown) => {
      if (!(err instanceof Error) || !err.message.includes('NOSCRIPT')) throw err;
      // The script cache was emptied (SCRIPT FLUSH, a restart the connection did not notice):
      // the same call again, which goes out as EVAL.
      if (command.socket !== null) loaded.delete(command.socket);
      return send(args).promise;
    });
  };
}
