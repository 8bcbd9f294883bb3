import { describe, expect, it } from 'vitest';
import { kafkaListenerEnv, ListenerConfigError } from '../../shared/kafka/listener-env';

describe('kafkaListenerEnv', () => {
  it('reads KAFKA_APPENDS_PER_PARTITION as a whole number, 0 meaning no group commit, and leaves the default alone when unset', () => {
    expect(kafkaListenerEnv({})).toEqual({});
    expect(kafkaListenerEnv({ KAFKA_APPENDS_PER_PARTITION: '8' })).toEqual({ appendsPerPartition: 8 });
    expect(kafkaListenerEnv({ KAFKA_APPENDS_PER_PARTITION: ' 0 ' })).toEqual({ appendsPerPartition: 0 });
  });

  it('refuses a value that is not a whole number, naming the variable', () => {
    for (const value of ['-1', '2.5', 'four']) {
      expect(() => kafkaListenerEnv({ KAFKA_APPENDS_PER_PARTITION: value })).toThrow(ListenerConfigError);
      expect(() => kafkaListenerEnv({ KAFKA_APPENDS_PER_PARTITION: value })).toThrow(`KAFKA_APPENDS_PER_PARTITION=${value}`);
    }
  });
});
