'use strict';

require('./runner/suite')('RTCIceCandidate-constructor.html');
