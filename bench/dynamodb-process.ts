/** Child process entry: dynalite (see services.ts). */
import { serve } from './rpc';
import { dynamoDbService } from './services';

serve(dynamoDbService());
