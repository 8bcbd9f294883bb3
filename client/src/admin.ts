/**
 * The admin client: topics and consumer groups (KafkaJS's admin, over Logway's HTTP API).
 */
import { hasErrorCode } from './errors';
import { segment, type HttpTransport } from './http';
import type {
  CommittedOffset,
  GroupDescription,
  GroupListing,
  ResetOffsetsResult,
  ResetTarget,
  TopicConfig,
  TopicDescription,
  TopicListing,
} from './types';

export interface NewTopic {
  /** The topic name ([a-zA-Z0-9._-]{1,249}). */
  topic: string;
  /** Default 1. */
  numPartitions?: number;
  /** e.g. { 'retention.ms': 86400000, 'cleanup.policy': 'compact' }. */
  config?: TopicConfig;
  /** KafkaJS's form of config. */
  configEntries?: { name: string; value: string }[];
}

export interface TopicOffsets {
  partition: number;
  /** The high watermark: where the next record will be. */
  offset: number;
  high: number;
  low: number;
}

export class Admin {
  constructor(private readonly http: HttpTransport) {}

  /** Kept for KafkaJS compatibility: nothing to connect. */
  async connect(): Promise<void> {}
  async disconnect(): Promise<void> {}

  /** Creates a topic; rejects with TOPIC_ALREADY_EXISTS (409) if the name is taken. */
  async createTopic(topic: NewTopic): Promise<TopicDescription> {
    const config = { ...Object.fromEntries((topic.configEntries ?? []).map((e) => [e.name, e.value])), ...topic.config };
    const response = await this.http.request<TopicDescription>({
      method: 'POST',
      path: '/v1/topics',
      body: { name: topic.topic, partitions: topic.numPartitions ?? 1, ...(Object.keys(config).length ? { config } : {}) },
      retry: 'throttled',
    });
    return response.body;
  }

  /** KafkaJS's createTopics: true if every topic was created, false if some already existed. */
  async createTopics({ topics }: { topics: NewTopic[] }): Promise<boolean> {
    let allCreated = true;
    for (const topic of topics) {
      try {
        await this.createTopic(topic);
      } catch (error) {
        if (hasErrorCode(error, 'TOPIC_ALREADY_EXISTS')) allCreated = false;
        else throw error;
      }
    }
    return allCreated;
  }

  async listTopics(): Promise<TopicListing[]> {
    return (await this.http.request<{ topics: TopicListing[] }>({ method: 'GET', path: '/v1/topics' })).body.topics;
  }

  async describeTopic(topic: string): Promise<TopicDescription> {
    return (await this.http.request<TopicDescription>({ method: 'GET', path: `/v1/topics/${segment(topic)}` })).body;
  }

  /** Grows partitions and/or changes config. */
  async alterTopic(topic: string, changes: { partitions?: number; config?: TopicConfig }): Promise<TopicDescription> {
    return (
      await this.http.request<TopicDescription>({
        method: 'PATCH',
        path: `/v1/topics/${segment(topic)}`,
        body: changes,
        retry: 'throttled',
      })
    ).body;
  }

  /** KafkaJS's createPartitions: grow topics to `count` partitions. */
  async createPartitions({ topicPartitions }: { topicPartitions: { topic: string; count: number }[] }): Promise<void> {
    for (const { topic, count } of topicPartitions) await this.alterTopic(topic, { partitions: count });
  }

  async deleteTopic(topic: string): Promise<void> {
    await this.http.request({ method: 'DELETE', path: `/v1/topics/${segment(topic)}`, retry: 'throttled' });
  }

  async deleteTopics({ topics }: { topics: string[] }): Promise<void> {
    for (const topic of topics) await this.deleteTopic(topic);
  }

  /** Per partition: the high watermark (`offset`, `high`) and the log start offset (`low`), as KafkaJS's fetchTopicOffsets. */
  async fetchTopicOffsets(topic: string): Promise<TopicOffsets[]> {
    const description = await this.describeTopic(topic);
    return description.partitions.map((p) => ({
      partition: p.partition,
      offset: p.highWatermark,
      high: p.highWatermark,
      low: p.logStartOffset,
    }));
  }

  /** Per partition, the earliest offset whose timestamp is at or after `timestamp` (the high watermark if none). */
  async fetchTopicOffsetsByTimestamp(topic: string, timestamp: number): Promise<{ partition: number; offset: number }[]> {
    const description = await this.describeTopic(topic);
    return Promise.all(
      description.partitions.map(async (p) => ({
        partition: p.partition,
        offset: (await this.offsetFor({ topic, partition: p.partition, at: timestamp })) ?? p.highWatermark,
      })),
    );
  }

  /** GET .../offsets?at=: earliest, latest, or the first offset at or after a timestamp (null if none). */
  async offsetFor({
    topic,
    partition,
    at,
  }: {
    topic: string;
    partition: number;
    at: 'earliest' | 'latest' | number;
  }): Promise<number | null> {
    const response = await this.http.request<{ offset: number | null }>({
      method: 'GET',
      path: `/v1/topics/${segment(topic)}/partitions/${partition}/offsets`,
      query: { at },
    });
    return response.body.offset;
  }

  async listGroups(): Promise<GroupListing[]> {
    return (await this.http.request<{ groups: GroupListing[] }>({ method: 'GET', path: '/v1/groups' })).body.groups;
  }

  /** State, epochs, members and per partition the committed offset, high watermark and lag. */
  async describeGroup(groupId: string): Promise<GroupDescription> {
    return (await this.http.request<GroupDescription>({ method: 'GET', path: `/v1/groups/${segment(groupId)}` })).body;
  }

  /** A group's committed offsets (optionally of some topics only). */
  async fetchOffsets({ groupId, topics }: { groupId: string; topics?: string[] }): Promise<CommittedOffset[]> {
    if (!topics || topics.length === 0) {
      return (await this.http.request<{ offsets: CommittedOffset[] }>({ method: 'GET', path: `/v1/groups/${segment(groupId)}/offsets` }))
        .body.offsets;
    }
    const lists = await Promise.all(
      topics.map(
        async (topic) =>
          (
            await this.http.request<{ offsets: CommittedOffset[] }>({
              method: 'GET',
              path: `/v1/groups/${segment(groupId)}/offsets`,
              query: { topic },
            })
          ).body.offsets,
      ),
    );
    return lists.flat();
  }

  /** Resets an empty group's offsets of a topic (every partition) to earliest, latest, a timestamp or an offset. */
  async resetOffsets({ groupId, topic, to }: { groupId: string; topic: string; to: ResetTarget }): Promise<ResetOffsetsResult> {
    return (
      await this.http.request<ResetOffsetsResult>({
        method: 'POST',
        path: `/v1/groups/${segment(groupId)}/reset-offsets`,
        body: { topic, to },
      })
    ).body;
  }

  /** Commits offsets as an admin: allowed only while the group has no members (KafkaJS's setOffsets). */
  async setOffsets({
    groupId,
    topic,
    partitions,
  }: {
    groupId: string;
    topic: string;
    partitions: { partition: number; offset: number | string }[];
  }): Promise<void> {
    await this.http.request({
      method: 'POST',
      path: `/v1/groups/${segment(groupId)}/offsets`,
      body: { offsets: partitions.map((p) => ({ topic, partition: p.partition, offset: Number(p.offset) })) },
    });
  }

  /** Deletes an empty group and its committed offsets (409 NON_EMPTY_GROUP while members are live). */
  async deleteGroup(groupId: string): Promise<void> {
    await this.http.request({ method: 'DELETE', path: `/v1/groups/${segment(groupId)}`, retry: 'throttled' });
  }

  async deleteGroups(groupIds: string[]): Promise<void> {
    for (const groupId of groupIds) await this.deleteGroup(groupId);
  }
}
