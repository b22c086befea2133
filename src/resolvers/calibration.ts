import type { Resolvers } from '../graph/generated/resolvers-types.js';
import { platformAdminScope } from '../graph/context.js';
import { GatewayError } from '../errors/gateway-error.js';

export const calibrationResolvers: Resolvers = {
  Query: {
    costCalibration: (_root, { minLists }, ctx) => {
      platformAdminScope(ctx, 'Cost calibration');
      if (minLists != null && minLists < 1) {
        throw new GatewayError('BAD_USER_INPUT', `minLists must be at least 1: ${minLists}`, { extensions: { argument: 'minLists' } });
      }
      return ctx.calibration.report({ minLists: minLists ?? 20 });
    },
  },
};
