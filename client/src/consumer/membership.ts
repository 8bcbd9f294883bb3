/**
 * Group membership (KafkaJS's consumerGroup, over KIP-848's heartbeat): the heartbeat loop joins
 * the group (memberEpoch 0, with a client-chosen member id so a retried join is harmless),
 * heartbeats every heartbeatIntervalMs (the service's, and never more than a third of the
 * session timeout) reporting the partitions it owns, and hands each response's assignment to
 * the consumer to reconcile. FENCED_MEMBER_EPOCH / UNKNOWN_MEMBER_ID, or no successful heartbeat
 * for a whole session, lose every partition and rejoin with epoch 0. `leave` sends epoch -1.
 */
import { hasErrorCode, isLogwayApiError } from '../errors';
import { segment, type HttpTransport } from '../http';
import { backoffDelay, type RetryOptions } from '../retry';
import { Wakeup, type Events } from '../signal';
import type { Assignment, HeartbeatResponse } from '../types';
import type { ConsumerEvents } from './types';

/** The heartbeat interval used: the service's, capped by the option and a third of the session. */
export function heartbeatInterval(serverIntervalMs: number, capMs: number, sessionTimeoutMs: number): number {
  return Math.max(10, Math.min(serverIntervalMs, capMs, Math.floor(sessionTimeoutMs / 3)));
}

/** A member's session lapsed: it has an epoch, and no heartbeat it sent for a whole session timeout succeeded. */
export function sessionLapsed(memberEpoch: number, lastHeartbeatSentAt: number, sessionTimeoutMs: number, now: number): boolean {
  return memberEpoch > 0 && now - lastHeartbeatSentAt > sessionTimeoutMs;
}

/** What membership needs of the consumer. */
export interface MembershipHooks {
  /** True while the consumer delivers (heartbeats go on during disconnect's final commit). */
  running(): boolean;
  subscribedTopics(): string[];
  /** Takes the subscription-changed flag (true: send the topics with this heartbeat). */
  takeSubscriptionChange(): boolean;
  /** Gives it back when the heartbeat that carried it failed. */
  restoreSubscriptionChange(): void;
  ownedPartitions(): Assignment;
  /** A heartbeat answered this assignment. */
  reconcile(assignment: Assignment): void;
  /** The member was fenced or its session lapsed: drop every partition (then call rejoin()). */
  lose(reason: string): Promise<void>;
  report(error: unknown, context: string): void;
}

export interface MembershipOptions {
  groupId: string;
  memberId: string;
  sessionTimeoutMs: number;
  /** Upper bound of the heartbeat interval. */
  heartbeatIntervalCapMs: number;
  /** The heartbeat interval until the service says its own. */
  initialHeartbeatIntervalMs: number;
  retry: RetryOptions;
}

export class Membership {
  private epoch = 0;
  private serverHeartbeatIntervalMs: number;
  private lastHeartbeatSentAt = 0;
  private waiters: { resolve(): void }[] = [];
  private heartbeating = false;
  private loopDone: Promise<void> = Promise.resolve();
  private readonly wake = new Wakeup();

  constructor(
    private readonly http: HttpTransport,
    private readonly options: MembershipOptions,
    private readonly hooks: MembershipHooks,
    private readonly events: Events<ConsumerEvents>,
  ) {
    this.serverHeartbeatIntervalMs = options.initialHeartbeatIntervalMs;
  }

  get memberEpoch(): number {
    return this.epoch;
  }

  /** Forgets the epoch: the next heartbeat joins again. */
  rejoin(): void {
    this.epoch = 0;
  }

  start(): void {
    this.heartbeating = true;
    this.loopDone = this.loop().catch((error) => this.hooks.report(error, 'heartbeat loop'));
  }

  /** Sends the next heartbeat now. */
  notify(): void {
    this.wake.notify();
  }

  sessionLapsed(now = Date.now()): boolean {
    return sessionLapsed(this.epoch, this.lastHeartbeatSentAt, this.options.sessionTimeoutMs, now);
  }

  private intervalMs(): number {
    return heartbeatInterval(this.serverHeartbeatIntervalMs, this.options.heartbeatIntervalCapMs, this.options.sessionTimeoutMs);
  }

  /** Stops the heartbeat loop and waits for it to end. */
  async stop(): Promise<void> {
    this.heartbeating = false;
    this.wake.notify();
    await this.loopDone;
  }

  /** Leaves the group (epoch -1) so it moves this member's partitions at once. */
  async leave(): Promise<void> {
    if (this.epoch <= 0) return;
    try {
      await this.http.request({
        method: 'POST',
        path: `/v1/groups/${segment(this.options.groupId)}/heartbeat`,
        body: { memberId: this.options.memberId, memberEpoch: -1 },
        timeoutMs: Math.max(1000, this.options.sessionTimeoutMs),
      });
    } catch (error) {
      // Already gone (expired or fenced) is as good as left.
      if (!hasErrorCode(error, 'UNKNOWN_MEMBER_ID', 'FENCED_MEMBER_EPOCH')) {
        this.hooks.report(error, 'leave group');
      }
    }
  }

  /** After stop and leave: no epoch, and nobody waits for a heartbeat any more. */
  close(): void {
    this.epoch = 0;
    for (const waiter of this.waiters.splice(0)) waiter.resolve();
  }

  /** Resolves after the next successful heartbeat (or after `timeoutMs`). */
  nextHeartbeat(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const waiter = {
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        resolve();
      }, timeoutMs);
      this.waiters.push(waiter);
      this.wake.notify();
    });
  }

  private async loop(): Promise<void> {
    const { groupId, memberId, sessionTimeoutMs } = this.options;
    let failures = 0;
    while (this.heartbeating) {
      const sentAt = Date.now();
      const joining = this.epoch === 0;
      if (joining && !this.hooks.running()) break;
      const subscriptionChanged = this.hooks.takeSubscriptionChange();
      const body = joining
        ? { memberId, memberEpoch: 0, subscribedTopics: this.hooks.subscribedTopics(), sessionTimeoutMs }
        : {
            memberId,
            memberEpoch: this.epoch,
            ownedPartitions: this.hooks.ownedPartitions(),
            ...(subscriptionChanged ? { subscribedTopics: this.hooks.subscribedTopics() } : {}),
          };
      let delay: number;
      try {
        const response = await this.http.request<HeartbeatResponse>({
          method: 'POST',
          path: `/v1/groups/${segment(groupId)}/heartbeat`,
          body,
          retry: 'none',
          timeoutMs: Math.max(1000, sessionTimeoutMs),
        });
        failures = 0;
        const r = response.body;
        this.lastHeartbeatSentAt = sentAt;
        this.epoch = r.memberEpoch;
        this.serverHeartbeatIntervalMs = r.heartbeatIntervalMs;
        if (joining) this.events.emit('group.join', { memberId: r.memberId, memberEpoch: r.memberEpoch });
        if (this.hooks.running()) this.hooks.reconcile(r.assignment);
        for (const waiter of this.waiters.splice(0)) waiter.resolve();
        delay = this.intervalMs();
      } catch (error) {
        if (subscriptionChanged) this.hooks.restoreSubscriptionChange();
        if (!this.heartbeating) break;
        if (hasErrorCode(error, 'FENCED_MEMBER_EPOCH', 'UNKNOWN_MEMBER_ID')) {
          await this.hooks.lose(error.code);
          delay = 0;
        } else {
          failures++;
          this.hooks.report(error, joining ? 'join group' : 'heartbeat');
          if (this.sessionLapsed()) await this.hooks.lose('SESSION_LAPSED');
          delay = Math.min(
            this.intervalMs(),
            backoffDelay(failures - 1, this.options.retry, isLogwayApiError(error) ? error.retryAfterMs : 0),
          );
        }
      }
      await this.wake.wait(delay);
    }
  }
}
