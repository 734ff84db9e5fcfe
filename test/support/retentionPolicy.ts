// Random retention policies for the property tests of schedule and environment retention.
import fc from 'fast-check';
import type { RetentionPolicy } from '../../core/crd.ts';

export const retentionPolicy: fc.Arbitrary<RetentionPolicy> = fc.record({
  keepLast: fc.option(fc.integer({ min: 1, max: 10 }), { nil: undefined }),
  keepDaily: fc.option(fc.integer({ min: 0, max: 10 }), { nil: undefined }),
  keepWeekly: fc.option(fc.integer({ min: 0, max: 6 }), { nil: undefined }),
  keepMonthly: fc.option(fc.integer({ min: 0, max: 12 }), { nil: undefined }),
  maxAgeDays: fc.option(fc.integer({ min: 1, max: 365 }), { nil: undefined }),
}, { requiredKeys: [] });
