/** Builds the provider router from config: providers in AI_PROVIDERS order, those without a key left out. */
import type { Config } from '../../../config.js';
import type { Logger } from '../../../logger.js';
import type { Metrics } from '../../../metrics.js';
import { anthropicProvider } from './anthropic.js';
import { googleProvider } from './google.js';
import { localProvider } from './local.js';
import { openaiProvider } from './openai.js';
import { ProviderRouter } from './router.js';
import type { ChatProvider, ProviderName } from './types.js';

export function createProviders(config: Config): { providers: ChatProvider[]; skipped: ProviderName[] } {
  const providers: ChatProvider[] = [];
  const skipped: ProviderName[] = [];
  for (const name of config.AI_PROVIDERS) {
    const provider = build(name, config);
    if (provider) providers.push(provider);
    else skipped.push(name);
  }
  return { providers, skipped };
}

function build(name: ProviderName, c: Config): ChatProvider | null {
  switch (name) {
    case 'local':
      return localProvider(c.CHAT_CHUNK_DELAY_MS);
    case 'openai':
      return c.OPENAI_API_KEY
        ? openaiProvider({ apiKey: c.OPENAI_API_KEY, model: c.OPENAI_MODEL, baseURL: c.OPENAI_BASE_URL })
        : null;
    case 'anthropic':
      return c.ANTHROPIC_API_KEY
        ? anthropicProvider({ apiKey: c.ANTHROPIC_API_KEY, model: c.ANTHROPIC_MODEL, baseURL: c.ANTHROPIC_BASE_URL })
        : null;
    case 'google':
      return c.GOOGLE_API_KEY
        ? googleProvider({ apiKey: c.GOOGLE_API_KEY, model: c.GOOGLE_MODEL, baseUrl: c.GOOGLE_BASE_URL })
        : null;
  }
}

export function createProviderRouter(config: Config, metrics: Metrics, log: Logger): ProviderRouter {
  const { providers, skipped } = createProviders(config);
  if (skipped.length) log.info({ skipped }, 'AI providers without an API key are skipped');
  if (!providers.length) log.warn('no AI provider is usable: every chat reply will fail (add "local" to AI_PROVIDERS)');
  return new ProviderRouter({
    providers,
    local: providers.find((p) => p.name === 'local') ?? localProvider(config.CHAT_CHUNK_DELAY_MS),
    firstTokenTimeoutMs: config.AI_FIRST_TOKEN_TIMEOUT_MS,
    totalTimeoutMs: config.AI_TOTAL_TIMEOUT_MS,
    breakerFailures: config.AI_BREAKER_FAILURES,
    breakerCooldownMs: config.AI_BREAKER_COOLDOWN_MS,
    prices: config.AI_PRICES,
    metrics,
    log,
  });
}
