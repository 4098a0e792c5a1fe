import { parentPort, workerData } from 'worker_threads';
import { runCampaign, type CampaignOptions } from './campaign';

/** A campaign in its own thread, so a hang can be stopped and a runaway allocation kills only the thread. */
const options = workerData as CampaignOptions;
parentPort!.postMessage(runCampaign(options));
