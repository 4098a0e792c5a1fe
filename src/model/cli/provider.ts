import { UsageError } from '../errors';
import { PROVIDER_SETTINGS, type ProviderSetting } from '../run/providers';

export function parseProvider(value: string): ProviderSetting {
  if (!(PROVIDER_SETTINGS as readonly string[]).includes(value)) {
    throw new UsageError(`--provider must be one of ${PROVIDER_SETTINGS.join(', ')}; got '${value}'.`);
  }
  return value as ProviderSetting;
}
