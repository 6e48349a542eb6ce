import type { Catalog } from '../decision/catalog';
import type { ActivationInstance, ActivationStore } from '../store/ports';
import { campaignProblems, type Campaign } from './campaign';

/**
 * A campaign's statistics, counted from its instances (exact, whatever was retried): per step
 * (entered, waiting, exited and why, sent, failed, held out) and conversions attributed within the
 * window after a send, against the control group's after its hold-out.
 */
export interface CampaignStats {
  campaignId: string;
  entered: number;
  waiting: number;
  sending: number;
  exited: { total: number; reasons: Record<string, number> };
  sent: number;
  /** Accepted by the channel (a webhook's 2xx, EventBridge's PutEvents): the adapters know no later receipt. */
  delivered: number;
  failed: { total: number; reasons: Record<string, number> };
  control: { heldOut: number; converted: number; rate: number | null };
  treatment: { sent: number; converted: number; rate: number | null };
  /** Treatment conversion rate less the control's (null until both have someone). */
  uplift: number | null;
  conversionWindowHours: number;
  /**
   * What stops the campaign now (disabled; a geofence kind or a placement the current catalog lacks),
   * each as the field and what it means: a campaign that can enter or send to no one says why here,
   * rather than only counting nobody. Empty when nothing does.
   */
  blocked: string[];
}

/** A reason with its variable part (times, counts) cut, so reasons group: "exit: Order Completed". */
const reasonKey = (reason = 'unknown'): string => reason.replace(/ at \d{4}-.*$/, '').replace(/, until .*$/, '').slice(0, 120);

export function campaignStats(campaign: Campaign, instances: ActivationInstance[], catalog: Pick<Catalog, 'offers' | 'places'>): CampaignStats {
  const count = (test: (i: ActivationInstance) => boolean) => instances.filter(test).length;
  const tally = (list: ActivationInstance[]) => {
    const reasons: Record<string, number> = {};
    for (const i of list) reasons[reasonKey(i.reason)] = (reasons[reasonKey(i.reason)] ?? 0) + 1;
    return { total: list.length, reasons };
  };
  const sent = instances.filter((i) => i.status === 'sent');
  const heldOut = instances.filter((i) => i.status === 'held-out');
  const rate = (n: number, d: number) => (d === 0 ? null : Math.round((n / d) * 10_000) / 10_000);
  const treatmentRate = rate(count((i) => i.status === 'sent' && i.convertedAt !== undefined), sent.length);
  const controlRate = rate(count((i) => i.status === 'held-out' && i.convertedAt !== undefined), heldOut.length);
  return {
    campaignId: campaign.id,
    entered: instances.length,
    waiting: count((i) => i.status === 'planned' || i.status === 'waiting'),
    sending: count((i) => i.status === 'sending'),
    exited: tally(instances.filter((i) => i.status === 'cancelled')),
    sent: sent.length,
    delivered: sent.length,
    failed: tally(instances.filter((i) => i.status === 'failed')),
    control: { heldOut: heldOut.length, converted: count((i) => i.status === 'held-out' && i.convertedAt !== undefined), rate: controlRate },
    treatment: { sent: sent.length, converted: count((i) => i.status === 'sent' && i.convertedAt !== undefined), rate: treatmentRate },
    uplift: treatmentRate === null || controlRate === null ? null : Math.round((treatmentRate - controlRate) * 10_000) / 10_000,
    conversionWindowHours: campaign.conversion.windowHours,
    blocked: campaignProblems(campaign, catalog),
  };
}

export async function statsOf(campaign: Campaign, store: ActivationStore, catalog: Pick<Catalog, 'offers' | 'places'>): Promise<CampaignStats> {
  return campaignStats(campaign, await store.ofCampaign(campaign.id), catalog);
}
