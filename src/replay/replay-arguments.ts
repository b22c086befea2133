import { GatewayError } from '../errors/gateway-error.js';

/** A replay's period bound (`from`, `to`) given as ISO 8601 text; BAD_USER_INPUT naming the argument otherwise. */
export function replayTime(text: string, argument: string): number {
  const ms = Date.parse(text);
  if (Number.isNaN(ms)) throw badReplayInput(`${argument} must be an ISO 8601 time: ${text}`, argument);
  return ms;
}

/** A replay request's bad argument: BAD_USER_INPUT with the argument's name in its extensions. */
export function badReplayInput(message: string, argument: string): GatewayError {
  return new GatewayError('BAD_USER_INPUT', message, { extensions: { argument } });
}
