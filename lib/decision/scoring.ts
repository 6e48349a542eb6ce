import { InvokeEndpointCommand, type SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import type { Offer } from './catalog';
import type { DecisionFacts } from './decide';

/**
 * Propensity scoring for candidate offers. With a SageMaker endpoint configured, InvokeEndpoint runs
 * under a strict time budget; if it is slow, fails or answers nonsense, the decision falls back to
 * the in-process scores (the nightly batch propensity, else the configured default) — never an error.
 */
export interface Scores {
  propensity?: (offer: Offer) => number | undefined;
  modelVersion: string;
  /** Why the remote model was not used, when it was not. */
  fallback?: string;
}

export interface RemoteScorer {
  score(facts: DecisionFacts, offers: Offer[]): Promise<Scores>;
}

export class SageMakerScorer implements RemoteScorer {
  constructor(
    private readonly client: Pick<SageMakerRuntimeClient, 'send'>,
    private readonly endpoint: string,
    private readonly budgetMs = 30,
  ) {}

  async score(facts: DecisionFacts, offers: Offer[]): Promise<Scores> {
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), this.budgetMs);
    try {
      const body = JSON.stringify({ offers: offers.map((o) => ({ id: o.id, category: o.category, value: o.value })), features: { aggregates: facts.aggregates, derived: facts.derived, stage: facts.stage, batch: facts.batch } });
      const res = await this.client.send(
        new InvokeEndpointCommand({ EndpointName: this.endpoint, ContentType: 'application/json', Accept: 'application/json', Body: new TextEncoder().encode(body) }),
        { abortSignal: abort.signal },
      );
      const parsed = JSON.parse(new TextDecoder().decode(res.Body)) as { scores?: Record<string, unknown>; modelVersion?: unknown };
      const scores = parsed.scores ?? {};
      return {
        propensity: (offer) => {
          const s = scores[offer.id];
          return typeof s === 'number' && s >= 0 && s <= 1 ? s : undefined;
        },
        modelVersion: `sagemaker:${this.endpoint}:${typeof parsed.modelVersion === 'string' ? parsed.modelVersion : 'unknown'}`,
      };
    } catch (e) {
      return { modelVersion: 'in-process', fallback: abort.signal.aborted ? `model endpoint exceeded its ${this.budgetMs} ms budget` : `model endpoint failed: ${(e as Error).name}` };
    } finally {
      clearTimeout(timer);
    }
  }
}
