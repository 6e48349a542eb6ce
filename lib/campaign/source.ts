import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { PublishedDocument } from '../decision/published';
import { loadCampaigns, type Campaigns } from './campaign';

/**
 * Where the campaign functions get their campaigns: the item `campaigns` of the config table once
 * published (`PUT /v1/campaigns`, validated first), else config/campaigns.json. See PublishedDocument.
 */
export class CampaignSource extends PublishedDocument<Campaigns, { campaigns: number }> {
  constructor(doc: DynamoDBDocumentClient, table: string, refreshMs = 30_000, load: (input?: unknown) => Campaigns = loadCampaigns, onError: (e: Error) => void = () => undefined) {
    super(doc, table, 'campaigns', (input) => load(input), refreshMs, () => load(), onError, (c) => ({ campaigns: c.campaigns.length }));
  }
}
