// Moved to chaos/broker.ts, where `npm run chaos` uses it too.
export { RABBITMQ_URL, rabbitSkip, consume, rabbitProxy, type Received, type Consumer, type Proxy } from '../../chaos/broker.js'
