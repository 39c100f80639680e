/**
 * A tenant's `models` on every path that names a model: chat on every surface, Responses,
 * embeddings, count_tokens, Gemini's methods and each request of a batch. One check, so no
 * endpoint lets a tenant reach a model its key is not for; refused as a provider refuses a key
 * without access to a model (403 permission_error, in the caller's shape).
 */
import { mayUseModel } from '../tenants/tenant.js';
import { GatewayError } from './errors.js';
import type { RequestContext } from './request-context.js';

export function checkModelAccess(context: Pick<RequestContext, 'tenant' | 'trace'>, model: string): void {
  const { tenant } = context;
  if (!tenant || mayUseModel(tenant, model)) return;
  // Recorded: a tenant asking for what it may not is worth seeing in metrics and the usage log.
  context.trace.requestedModel ??= model;
  throw new GatewayError('permission', `your API key does not have permission to use model "${model}" (tenant "${tenant.name}" may use: ${tenant.models!.join(', ')})`, { param: 'model' });
}
