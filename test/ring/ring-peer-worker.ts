/** Test helper worker: runs one side of ring traffic and posts its TrafficReport. */
import { parentPort, workerData } from 'node:worker_threads';
import { RingConsumer, RingProducer } from '../../src/ring/index.js';
import { consumeSync, produceSync, type TrafficOptions } from './ring-traffic.js';

const { sab, role, traffic } = workerData as { sab: SharedArrayBuffer; role: 'produce' | 'consume'; traffic: TrafficOptions };
const report = role === 'produce' ? produceSync(new RingProducer(sab), traffic) : consumeSync(new RingConsumer(sab), traffic);
parentPort!.postMessage(report);
