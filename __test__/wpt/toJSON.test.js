'use strict';

require('./runner/suite')('toJSON.html');
