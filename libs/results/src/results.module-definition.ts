import { ConfigurableModuleBuilder } from '@nestjs/common';
import { ResultsModuleOptions } from './results.options';

export const {
  ConfigurableModuleClass: ConfigurableResultsModule,
  MODULE_OPTIONS_TOKEN: RESULTS_OPTIONS,
  OPTIONS_TYPE: RESULTS_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: RESULTS_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<ResultsModuleOptions>().setClassMethodName('forRoot').build();
