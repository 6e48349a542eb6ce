import { ConflictException, CreateScheduleCommand, DeleteScheduleCommand, ResourceNotFoundException, type SchedulerClient } from '@aws-sdk/client-scheduler';
import { SchedulerWakeups } from '../../lib/store/scheduler';
import type { ActivationInstance } from '../../lib/store/ports';

/** Wake-ups on AWS: one-time schedules onto the channel's queue, or straight on the queue when due within a minute. */
const instance = (dueAt: string): ActivationInstance => ({
  profileId: 'p_1', campaignId: 'cart-abandoned', occurrence: 'occ', triggerMessageId: 'm1', group: 'treatment', status: 'planned',
  enteredAt: '2026-11-20T10:00:00.000Z', dueAt, deferrals: 0, history: [], rev: 1,
});

function setup(answer: (command: unknown) => unknown = () => ({})) {
  const sent: unknown[] = [];
  const queued: Array<{ url: string; body: string; delay: number }> = [];
  const client = { send: async (c: unknown) => (sent.push(c), answer(c)) } as unknown as SchedulerClient;
  const wakeups = new SchedulerWakeups(client, {
    group: 'campaigns',
    roleArn: 'arn:aws:iam::1:role/scheduler',
    queueOf: (i) => (i.campaignId === 'cart-abandoned' ? { arn: 'arn:aws:sqs:eu-west-2:1:send-email', url: 'https://sqs.eu-west-2.amazonaws.com/1/send-email' } : undefined),
    sendNow: async (url, body, delay) => void queued.push({ url, body, delay }),
    now: () => new Date('2026-11-20T10:00:00.000Z'),
  });
  return { wakeups, sent, queued };
}

it('makes a one-time schedule at the due time onto the queue, named after the entry and its due time, deleting itself after', async () => {
  const { wakeups, sent } = setup();
  await wakeups.schedule(instance('2026-11-20T11:00:00.000Z'));
  expect(sent).toHaveLength(1);
  const input = (sent[0] as CreateScheduleCommand).input;
  expect(input).toMatchObject({
    GroupName: 'campaigns',
    ScheduleExpression: 'at(2026-11-20T11:00:00)',
    ScheduleExpressionTimezone: 'UTC',
    ActionAfterCompletion: 'DELETE',
    Target: { Arn: 'arn:aws:sqs:eu-west-2:1:send-email', RoleArn: 'arn:aws:iam::1:role/scheduler', Input: JSON.stringify({ profileId: 'p_1', campaignId: 'cart-abandoned', occurrence: 'occ' }) },
  });
  expect(input.Name).toBe(SchedulerWakeups.nameOf(instance('2026-11-20T11:00:00.000Z')));
  expect(input.Name!.length).toBeLessThanOrEqual(64);
  expect(SchedulerWakeups.nameOf(instance('2026-11-20T12:00:00.000Z'))).not.toBe(input.Name);
});

it('puts a wake-up due within a minute (or already due) straight on the queue, delayed by what is left', async () => {
  const { wakeups, sent, queued } = setup();
  await wakeups.schedule(instance('2026-11-20T10:00:30.000Z'));
  await wakeups.schedule(instance('2026-11-20T09:00:00.000Z'));
  expect(sent).toEqual([]);
  expect(queued.map((q) => [q.url, q.delay])).toEqual([
    ['https://sqs.eu-west-2.amazonaws.com/1/send-email', 30],
    ['https://sqs.eu-west-2.amazonaws.com/1/send-email', 0],
  ]);
});

it('takes a schedule made already as done (a retry), refuses a campaign without a queue, and deletes a pending schedule once', async () => {
  const { wakeups } = setup(() => {
    throw new ConflictException({ message: 'exists', Message: 'exists', $metadata: {} });
  });
  await expect(wakeups.schedule(instance('2026-11-20T11:00:00.000Z'))).resolves.toBeUndefined();
  await expect(wakeups.schedule({ ...instance('2026-11-20T11:00:00.000Z'), campaignId: 'new-channel' })).rejects.toThrow(/no send queue in this deployment/);
  const gone = setup(() => {
    throw new ResourceNotFoundException({ message: 'gone', Message: 'gone', $metadata: {} });
  });
  await expect(gone.wakeups.cancel(instance('2026-11-20T11:00:00.000Z'))).resolves.toBeUndefined();
  expect((gone.sent[0] as DeleteScheduleCommand).input).toEqual({ Name: SchedulerWakeups.nameOf(instance('2026-11-20T11:00:00.000Z')), GroupName: 'campaigns' });
});
