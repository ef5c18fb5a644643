import { ConfigurableModuleBuilder } from '@nestjs/common';
import { AuthModuleOptions } from './auth.options';

export const { ConfigurableModuleClass: ConfigurableAuthModule, MODULE_OPTIONS_TOKEN: AUTH_OPTIONS } =
  new ConfigurableModuleBuilder<AuthModuleOptions>().setClassMethodName('forRoot').build();
