'use strict';

require('./runner/suite')('RTCPeerConnection-constructor.html');
