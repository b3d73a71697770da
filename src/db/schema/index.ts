export * from './tenancy.js';
export * from './findings.js';
export * from './auth.js';
export * from './operations.js';
export * from './preflightTenants.js';
export * from './changeManagement.js';
