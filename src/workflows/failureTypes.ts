// The ApplicationFailure types activities report, shared by the activities that throw them and
// the workflows that act on them. No runtime imports: workflow code must stay deterministic.

export const FAILURE_TYPES = {
  /** The work itself failed (a trigger raised, a rule refused): counted against maxAttempts. */
  business: 'BusinessFailure',
  /** PostgreSQL or Temporal briefly unreachable: retried by Temporal until it passes. */
  transient: 'TransientInfrastructure',
  /** Still unreachable after the outage window: the tenant fails with this message. */
  outage: 'InfrastructureOutage',
} as const;
