import { SendEmailCommand, type SESv2Client } from '@aws-sdk/client-sesv2';
import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import { DeliveryError, type CampaignMessage, type Channel } from '../campaign/channels';

/**
 * Amazon SES (e-mail) and Amazon SNS (SMS) channel adapters. The address is opened by the send
 * function just before the call and goes no further: not into the message, the logs or the outbox.
 */
const permanent = (e: unknown): boolean => {
  const name = (e as { name?: string }).name ?? '';
  return /^(MessageRejected|MailFromDomainNotVerified|NotFoundException|BadRequestException|InvalidParameter|AccountSuspended|SendingPaused|AuthorizationError|AccessDenied)/.test(name);
};

/** E-mail through SES v2 with a stored template: the message's offer is the template's data. */
export class SesChannel implements Channel {
  constructor(
    private readonly client: SESv2Client,
    private readonly options: { from: string; template: string; configurationSet?: string },
  ) {}

  async deliver(message: CampaignMessage, to?: string): Promise<void> {
    if (to === undefined) throw new DeliveryError('no e-mail address to send to', true);
    try {
      await this.client.send(
        new SendEmailCommand({
          FromEmailAddress: this.options.from,
          Destination: { ToAddresses: [to] },
          Content: { Template: { TemplateName: this.options.template, TemplateData: JSON.stringify({ campaignId: message.campaignId, ...message.offer, items: message.offer.items ?? [] }) } },
          EmailTags: [
            { Name: 'campaign', Value: message.campaignId },
            { Name: 'offer', Value: message.offer.offerId },
          ],
          ...(this.options.configurationSet ? { ConfigurationSetName: this.options.configurationSet } : {}),
        }),
      );
    } catch (e) {
      // The error's name only: SES's message names the recipient, and a reason is kept and shown.
      throw new DeliveryError(`SES refused the e-mail: ${(e as Error).name}`.slice(0, 200), permanent(e));
    }
  }
}

/** SMS through SNS: the channel's text with {{offerId}}, {{content}} and {{items}} filled in. */
export class SnsSmsChannel implements Channel {
  constructor(
    private readonly client: SNSClient,
    private readonly options: { text: string; senderId?: string },
  ) {}

  async deliver(message: CampaignMessage, to?: string): Promise<void> {
    if (to === undefined) throw new DeliveryError('no phone number to send to', true);
    const text = this.options.text
      .replaceAll('{{offerId}}', message.offer.offerId)
      .replaceAll('{{content}}', message.offer.content)
      .replaceAll('{{items}}', (message.offer.items ?? []).join(', '));
    try {
      await this.client.send(
        new PublishCommand({
          PhoneNumber: to,
          Message: text,
          MessageAttributes: {
            'AWS.SNS.SMS.SMSType': { DataType: 'String', StringValue: 'Promotional' },
            ...(this.options.senderId ? { 'AWS.SNS.SMS.SenderID': { DataType: 'String', StringValue: this.options.senderId } } : {}),
          },
        }),
      );
    } catch (e) {
      // The error's name only: SNS's message names the phone number, and a reason is kept and shown.
      throw new DeliveryError(`SNS refused the SMS: ${(e as Error).name}`.slice(0, 200), permanent(e));
    }
  }
}
