export * from './resource.js';
export * from './networking.js';
export * from './kube.js';
export * from './security.js';
