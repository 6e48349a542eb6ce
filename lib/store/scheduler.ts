import { createHash } from 'node:crypto';
import { CreateScheduleCommand, DeleteScheduleCommand, ConflictException, ResourceNotFoundException, type SchedulerClient } from '@aws-sdk/client-scheduler';
import type { Wakeups } from '../campaign/journey';
import type { ActivationInstance } from './ports';

/**
 * Wake-ups as EventBridge Scheduler one-time schedules: at the instance's due time the schedule puts
 * its reference on the campaign channel's send queue, then deletes itself. A deferral makes a new
 * schedule (its name holds the due time); an exit deletes the pending one. A schedule that fires for
 * an instance changed meanwhile finds it not due, or no longer waiting, and does nothing.
 */
export class SchedulerWakeups implements Wakeups {
  constructor(
    private readonly client: SchedulerClient,
    private readonly options: {
      group: string;
      roleArn: string;
      /** The send queue of the instance's campaign channel: its ARN (the schedule's target) and URL (a wake-up due now). */
      queueOf: (instance: ActivationInstance) => { arn: string; url: string } | undefined;
      /** Puts a wake-up due within a minute straight on the queue, delayed by what is left (a one-time schedule wants a time ahead). */
      sendNow: (queueUrl: string, body: string, delaySeconds: number) => Promise<void>;
      now?: () => Date;
    },
  ) {}

  /** At most 64 characters: a hash of the instance and its due time. */
  static nameOf(i: ActivationInstance): string {
    return `wake-${createHash('sha256').update(`${i.profileId}\n${i.campaignId}\n${i.occurrence}\n${i.dueAt}`).digest('hex').slice(0, 48)}`;
  }

  async schedule(i: ActivationInstance): Promise<void> {
    const queue = this.options.queueOf(i);
    if (i.dueAt === undefined) return;
    if (queue === undefined) throw new Error(`campaign ${i.campaignId} has no send queue in this deployment (its channel was added after the deploy): deploy again`);
    const body = JSON.stringify({ profileId: i.profileId, campaignId: i.campaignId, occurrence: i.occurrence });
    const wait = Date.parse(i.dueAt) - (this.options.now?.() ?? new Date()).getTime();
    // Due within a minute (or already): straight on the queue. A redelivery of it is harmless (the send step claims the entry).
    if (wait <= 60_000) return this.options.sendNow(queue.url, body, Math.max(0, Math.ceil(wait / 1000)));
    try {
      await this.client.send(
        new CreateScheduleCommand({
          Name: SchedulerWakeups.nameOf(i),
          GroupName: this.options.group,
          // at() takes UTC seconds without a zone.
          ScheduleExpression: `at(${i.dueAt.slice(0, 19)})`,
          ScheduleExpressionTimezone: 'UTC',
          FlexibleTimeWindow: { Mode: 'OFF' },
          ActionAfterCompletion: 'DELETE',
          Target: { Arn: queue.arn, RoleArn: this.options.roleArn, Input: body },
        }),
      );
    } catch (e) {
      if (!(e instanceof ConflictException)) throw e; // Scheduled already (a retry).
    }
  }

  async cancel(i: ActivationInstance): Promise<void> {
    if (i.dueAt === undefined) return;
    try {
      await this.client.send(new DeleteScheduleCommand({ Name: SchedulerWakeups.nameOf(i), GroupName: this.options.group }));
    } catch (e) {
      if (!(e instanceof ResourceNotFoundException)) throw e; // Fired and deleted already, or never made.
    }
  }
}
