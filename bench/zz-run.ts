import { formatUiBench, runUiBench } from './ui.js';
const r = await runUiBench();
console.log(formatUiBench(r));
